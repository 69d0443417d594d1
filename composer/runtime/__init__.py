"""composer.runtime"""
