"""Helpers shared by the tests. Test modules import helpers only from here, never from each other."""
