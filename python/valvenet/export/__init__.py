"""What leaves training: the model file, and (later) C code and TFLite exports."""
