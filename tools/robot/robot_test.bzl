"""robot_test: a py_test that runs a Robot Framework suite against one firmware target."""

def robot_test(name, suite, target, firmware = None, resources = [], deps = [], data = [], variables = {}, **kwargs):
    """Runs `suite` with ${TARGET} and ${FIRMWARE} set.

    Args:
      name: target name.
      suite: the .robot file.
      target: qemu, renode or serial (the board's port comes from VALVENET_SERIAL_PORT).
      firmware: label of the firmware image rule (its .elf is used), or None for a board
        that is already flashed.
      resources: .robot/.resource files and keyword libraries the suite uses.
      deps: py_library dependencies of the keyword libraries.
      data: other runtime files.
      variables: extra Robot variables (name -> value).
      **kwargs: passed to py_test (size, tags, ...).
    """
    args = ["--variable", "TARGET:" + target]
    firmware_data = []
    if firmware:
        firmware_elf = firmware + ".elf"
        args += ["--variable", "FIRMWARE:$(rootpath %s)" % firmware_elf]
        firmware_data = [firmware_elf]
    for key, value in variables.items():
        # Bazel splits args like a Bourne shell: quote values with spaces (file names).
        args += ["--variable", ("'%s:%s'" if " " in value else "%s:%s") % (key, value)]
    native.py_test(
        name = name,
        srcs = ["//tools/robot:robot_main.py"],
        main = "//tools/robot:robot_main.py",
        args = args + ["$(rootpath %s)" % suite],
        data = [suite] + resources + firmware_data + data,
        deps = deps,
        python_version = "PY3",
        srcs_version = "PY3",
        **kwargs
    )
