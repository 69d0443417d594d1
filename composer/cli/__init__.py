"""composer.cli"""
