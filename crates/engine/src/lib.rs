//! The engine facade of berth: images, containers, volumes, networks.
