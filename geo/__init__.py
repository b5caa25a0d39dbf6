"""Pure geometry rules for Voisinage: lng/lat everywhere, metres for distances, no I/O."""
