// Placeholder entry point so the skeleton builds; the real CLI belongs to the CLI branch.
return 0;
