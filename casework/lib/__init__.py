"""Django glue shared by the apps: configuration, middleware, and (later) encrypted fields."""
