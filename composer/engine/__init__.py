"""composer.engine"""
