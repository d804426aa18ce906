"""The C engines, one module per model kind (gated_wavenet, nam_wavenet, recurrent), each
holding its float32 and its int16 emitter; what the kinds share per precision
(float_engine, float_products; q15_engine, q15_arith); registry.py maps kind names to them."""
