"""The 2-D playground: a small MLP on a 2-D dataset, its decision boundary live."""
