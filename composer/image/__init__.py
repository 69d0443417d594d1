"""composer.image"""
