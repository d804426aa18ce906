"""Entry point of every robot_test: runs Robot Framework inside a Bazel test.

Logs (log.html, report.html, output.xml) go to TEST_UNDECLARED_OUTPUTS_DIR, which Bazel
keeps as test.outputs/outputs.zip; the xUnit file goes to XML_OUTPUT_FILE.
"""

import os
import sys

import robot


def main() -> int:
    out_dir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", os.path.abspath("robot-output"))
    args = ["--outputdir", out_dir, "--console", "verbose", "--consolecolors", "off"]
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        args += ["--xunit", os.path.abspath(xml)]
    return robot.run_cli(args + sys.argv[1:], exit=False)


if __name__ == "__main__":
    sys.exit(main())
