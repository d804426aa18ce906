#!/bin/sh
# Offline stand-in: Bazel's coverage tools are downloaded on demand, which this
# offline build cannot do. Tests never call this; `bazel coverage` does.
echo "ValveNet: Bazel's remote coverage tools are not available offline; 'bazel coverage' is unsupported." >&2
exit 1
