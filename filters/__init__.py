"""Pure document logic: each filter answers "keep?" for one document, without Beam."""
