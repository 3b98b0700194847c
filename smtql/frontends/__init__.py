"""Front ends over the Python API: the command line, the REPL (with its
completion and lexer) and the IPython magics."""
