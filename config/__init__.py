"""Settings classes, read from environment variables only."""
from config.settings import CONFIGS, BaseConfig, DevelopmentConfig, ProductionConfig, TestingConfig, load_config

__all__ = ["CONFIGS", "BaseConfig", "DevelopmentConfig", "ProductionConfig", "TestingConfig", "load_config"]
