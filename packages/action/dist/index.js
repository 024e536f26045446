/** @upgradekit/action — the GitHub/Gitea Action. Its inputs and outputs arrive with the Action issue. */
export const name = 'upgradekit-action';
//# sourceMappingURL=index.js.map