"""Registry data files (TOML): every entry carries its values, its source and year, and notes on assumptions."""
