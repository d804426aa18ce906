"""The pedal: the firmware's real-time signal chain (firmware/app/chain.c) and its host side."""
