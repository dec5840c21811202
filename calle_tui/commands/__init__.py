"""The command line: `calle-tui` and its subcommands (`cli`), launching the app (`launch`), `doctor`,
`login/status/logout` (`account`) and `batch --dry-run` (`batch`); flags become settings in `overrides` and
what a command raises becomes an exit status in `exit_status`. Commands print and return exit codes; the core
below them never does."""
