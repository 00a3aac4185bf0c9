"""One module per command family; each exports click commands that ``cli.main`` registers."""
