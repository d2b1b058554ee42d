"""Scripts that measure the project and print figures (speed, accuracy); not part of the package."""
