//! The Vivace runtime over UDP. Not built yet (issue 4); the crate exists so the workspace has its final shape.
