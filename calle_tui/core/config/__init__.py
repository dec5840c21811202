"""Settings from flags, environment and the config file (`settings`), a quick look at the config before start-up
(`peek`), which endpoint URLs are accepted (`endpoint`), and the user's time zone (`timezone`)."""
