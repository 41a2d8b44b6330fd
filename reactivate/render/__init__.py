"""Rendering plain data to tables, files and messages; rendering never queries."""
