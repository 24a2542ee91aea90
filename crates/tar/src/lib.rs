//! Safe application of layer tarballs (whiteouts, links, hostile input) for berth.
