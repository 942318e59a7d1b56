"""Neural-network surrogates of spin Hamiltonians (Keras 3), importable as ``deepspin.surrogate``."""
