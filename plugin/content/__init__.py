"""SCORM packages as modules: manifest reading, safe archive storage, package versions."""
