"""The Textual app: shell, screens and widgets. Imports core; core never imports this."""
