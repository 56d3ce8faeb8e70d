"""Contests, polls and the secret ballot.

`elections.counting` is the pure-Python counting engine (no Django);
`elections.models` holds the records, `elections.services` the business
actions that change them, and `elections.views` only routes requests.
"""
