"""The inspection plan's steps, one module each."""
