"""Inventory of live platform variables (hashes only), and matching leaked findings to them."""
