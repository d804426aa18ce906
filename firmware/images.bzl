"""The model lists of the firmware images, shared by firmware/BUILD (which builds them) and
tests/robot/BUILD (whose suites check them against the same model files)."""

# The recommended real-time model, trained on the built-in crunch recordings: the amp's default.
DEFAULT_MODELS = [("//models:trained/crunch-nam-nano.vnet", "float32")]

# The Robot suites' image: one trained model of each engine family, the default first, each
# in float32 and int16.
TEST_MODELS = DEFAULT_MODELS + [
    ("//models:trained/crunch-wavenet-10x8.vnet", "float32"),
    ("//models:trained/crunch-lstm-12.vnet", "float32"),
    ("//models:trained/crunch-nam-nano.vnet", "int16"),
    ("//models:trained/crunch-wavenet-10x8.vnet", "int16"),
    ("//models:trained/crunch-lstm-12.vnet", "int16"),
]
