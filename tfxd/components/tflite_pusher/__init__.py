"""TFLitePusher: SavedModel plus validated TFLite variants, pushed as one atomic version."""
