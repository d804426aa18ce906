"""Model configs (data), Keras builders and the numpy streaming oracle."""
