"""Replaced at build time by the bindings componentize-py generates from ../wit.

componentize-py needs the directory to exist; nothing here is meant to be imported
outside a component build.
"""
