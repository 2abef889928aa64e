"""Reports for stakeholders: templates (TOML), published to W&B with wandb-workspaces or rendered
offline to a self-contained HTML or Markdown file from wbadmin's own read model."""
