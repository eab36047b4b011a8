"""The ``videostar`` command (verify, prepare, params, seeds, readme, deps) and the code-deps check;
no stage imports this room."""
