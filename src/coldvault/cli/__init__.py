"""The command line: commands, options, and rich output. Failures become exit codes only here."""
