"""Component types: TFX's standard ones and tfxd's own, one registry by YAML name."""
