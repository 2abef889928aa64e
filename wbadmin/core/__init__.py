"""wbadmin's data layer: settings and profiles, credentials, the W&B client, cache, journal,
change engine and services. It never imports textual or wbadmin.tui, so every screen has a
scriptable twin and the layer can be tested without a terminal."""
