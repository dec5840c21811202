"""The command line: `calle-tui` and its subcommands (`cli`), `doctor`, `login/status/logout` (`account`) and
`batch --dry-run` (`batch`). Commands print and return exit codes; the core below them never does."""
