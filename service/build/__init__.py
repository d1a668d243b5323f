"""The build room: corpus files in, one published index version out. The server imports none of it."""
