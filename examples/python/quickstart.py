"""oiad from Python in a dozen lines: train on a few hundred MNIST images of one digit for one
epoch, score a thousand test images of every digit, print the AUC and the decisions.

    PYTHONPATH=build/python python3 examples/python/quickstart.py     (after scripts/build.sh)
"""
import numpy as np

import oiad

digit = 1
mnist = oiad.load_dataset("mnist")  # scripts/setup.sh installs it
rng = np.random.default_rng(0)
normal = mnist.train_images[mnist.train_labels == digit]
normal = normal[rng.permutation(len(normal))[:600]]
model = oiad.train(normal, epochs=1, seed=0, progress=False)  # 540 to train, 60 held out to calibrate

pick = rng.permutation(len(mnist.test_labels))[:1000]
scores = model.score(mnist.test_images[pick])  # the model's decision: one-sided rule, 5% of normal images flagged
anomalous = mnist.test_labels[pick] != digit
print("AUC %.3f on %d test images (%d of digit %d); flagged: %.0f%% of the other digits, %.0f%% of digit %d"
      % (oiad.roc_auc(scores.score, anomalous), len(pick), int((~anomalous).sum()), digit,
         100 * scores.anomalous[anomalous].mean(), 100 * scores.anomalous[~anomalous].mean(), digit))
