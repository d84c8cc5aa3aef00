"""Wire formats, defined once (DESIGN.md): ITCH 5.0, MoldUDP64, SoupBinTCP 3.0, OUCH 4.2/5.0."""
