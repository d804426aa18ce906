"""Model configs (data), the registry of model kinds, Keras builders and the numpy streaming oracle."""
