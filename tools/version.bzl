"""The project version, used by the firmware banner. python/valvenet/__init__.py holds the
same string; tests/robot/boot.robot checks that both agree."""

VALVENET_VERSION = "0.1.0"
