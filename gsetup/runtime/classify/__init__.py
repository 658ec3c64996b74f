"""ClassificationServer's classifiers: rule files (docs/classification.md) and the VADER
sentiment model they can select."""
