"""A static release: entity files and pages, pictures, JSON-LD, DCAT/VoID, change sets, web-server configs."""
