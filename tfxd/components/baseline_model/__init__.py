"""BaselineModel: the model now serving, as the Evaluator's baseline, without a TFX Resolver."""
